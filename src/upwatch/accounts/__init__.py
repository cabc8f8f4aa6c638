"""Organizations, users, memberships, tokens, sessions and invitations."""
