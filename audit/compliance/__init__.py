"""Compliance reports for named rules (NYC LL144, EEOC Uniform Guidelines, EU AI Act)."""
