"""The only code that opens outbound connections."""
