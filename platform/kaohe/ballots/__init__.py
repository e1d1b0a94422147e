"""Anonymous democratic evaluation sessions (民主测评): one-time ballot codes,
a phone page without an account, counts that feed the annual review."""
