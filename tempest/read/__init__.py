"""The read side: queries that turn stored rows into the shapes the API answers with."""
