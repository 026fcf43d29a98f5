"""The agents' ticket queue (`/queue`): a sortable, filterable table, search, saved views
and bulk actions."""
