"""Proactive outreach: durable follow-up check-in and reminder jobs, sent through patient channels."""
