"""Web plumbing shared by the Customers Portal and the self-managed instance.

Both apps are built the same way (configuration, database, clock, jobs, sign-in, request logs,
simulation endpoints); this package holds that common ground so each app only declares what is
its own. Nothing here knows about subscriptions or seats.
"""
