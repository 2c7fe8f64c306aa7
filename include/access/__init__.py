"""Access control: who may sign in (LDAP, Azure AD, FAB's users), the guide's roles as Airflow
permissions, and the one lookup of who holds a role (`directory.users_with_role`)."""
