"""The dialogue manager: routes each patient turn to a flow and streams the reply as events."""
