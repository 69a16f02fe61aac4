# Provision Lab's sync protocol, shared by the Customers Portal and the instance.
#
# Sans-IO: bytes and dicts in, bytes and dicts out; keys, clocks and nonce stores are passed
# in. Nothing here opens a file or a socket, and nothing imports Flask, requests or
# SQLAlchemy, so both apps, the simulator and the tests drive it the same way.
#
# The package's public names are its modules' own: each module lists what it offers in its
# __all__, once, and the package offers all of them. GitLab.com provisioning
# (protocol.provisioning) is imported from its module.
from protocol import (
    activation_code,
    clock,
    encoding,
    envelope,
    errors,
    license,
    messages,
    signing,
    versions,
)
from protocol.activation_code import *  # noqa: F403
from protocol.clock import *  # noqa: F403
from protocol.encoding import *  # noqa: F403
from protocol.envelope import *  # noqa: F403
from protocol.errors import *  # noqa: F403
from protocol.license import *  # noqa: F403
from protocol.messages import *  # noqa: F403
from protocol.signing import *  # noqa: F403
from protocol.versions import *  # noqa: F403

__all__: list[str] = []
__all__ += activation_code.__all__
__all__ += clock.__all__
__all__ += encoding.__all__
__all__ += envelope.__all__
__all__ += errors.__all__
__all__ += license.__all__
__all__ += messages.__all__
__all__ += signing.__all__
__all__ += versions.__all__
