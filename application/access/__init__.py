"""Who is calling and what they may do: authentication, principals, tenancy, plans, rate limits."""
