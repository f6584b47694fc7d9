"""The wire contract: message schemas, codec, topic and key names, command signing."""
