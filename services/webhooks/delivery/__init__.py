"""Delivering events: the retry schedule, the HTTP sender, the endpoint directory and the
dispatcher that claims due deliveries and sends them."""
