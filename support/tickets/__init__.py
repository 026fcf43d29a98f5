"""The ticket domain. `service` is the only module that writes tickets."""
