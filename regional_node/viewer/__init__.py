"""Who is signed in, and what the policy lets them do here: what a console asks first."""
