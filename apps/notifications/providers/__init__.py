"""One module per provider, each implementing `send(channel, message) -> Receipt`."""
