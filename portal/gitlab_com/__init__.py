"""GitLab.com subscriptions in the Customers Portal: a subscription linked to a top-level group
(a namespace) is provisioned by pushing its plan and add-on purchases to GitLab.com over a
signed server-to-server call (``protocol.provisioning``), the other way round from
self-managed, where the instance asks once a day."""
