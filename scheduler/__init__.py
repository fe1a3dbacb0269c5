"""The queue: domain model, store, post lifecycle, services and the publishing daemon."""
