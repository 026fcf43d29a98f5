from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from support.auth.passwords import password_problem
from support.forms import BaseForm

# Registration and a reset link ask for a new password in the same words.
STRONG_ENOUGH_HELP = "At least 10 characters. A few unrelated words work well."
REPEAT_MISMATCH = "The two passwords don't match."


class LoginForm(BaseForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me signed in on this device")


class RegistrationForm(BaseForm):
    name = StringField(
        "Your name",
        validators=[
            DataRequired("Tell us what to call you."),
            Length(max=120, message="Use at most 120 characters."),
        ],
    )
    email = EmailField(
        "Email",
        # Phones often add a space after an autocompleted address.
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired("Enter your email address."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            Length(max=254),
        ],
    )
    password = PasswordField(
        "Password",
        description=STRONG_ENOUGH_HELP,
        validators=[DataRequired("Choose a password.")],
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[EqualTo("password", message=REPEAT_MISMATCH)],
    )

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(field.data or "", self.email.data or "")
        if problem:
            raise ValidationError(problem)


class ForgotPasswordForm(BaseForm):
    email = EmailField(
        "Email",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired("Enter your email address."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            Length(max=254),
        ],
    )


class NewPasswordForm(BaseForm):
    """A new password from a reset link: the same rules as registration."""

    password = PasswordField(
        "New password",
        description=STRONG_ENOUGH_HELP,
        validators=[DataRequired("Choose a password.")],
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[EqualTo("password", message=REPEAT_MISMATCH)],
    )

    def __init__(self, *args, email: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._email = email

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(field.data or "", self._email)
        if problem:
            raise ValidationError(problem)
