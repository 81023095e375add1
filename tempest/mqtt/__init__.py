"""Tempest subscribes to the meters' MQTT topics (docs/protocol.md, "MQTT"): each sealed day a
meter publishes ends in the drop folder as a day file, like every other route (`subscriber`)."""
