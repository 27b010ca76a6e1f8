"""Log streams (issue 17): an account's trail pushed to its SIEM, settled entries in order."""
