"""Notification channels: one sender per vendor behind the :class:`Sender` protocol."""
