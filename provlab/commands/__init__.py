"""The ``provlab`` command groups, one module each; ``provlab.cli`` assembles them."""
