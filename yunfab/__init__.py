"""Code shared by the Yunfab hub and its regional nodes.

Kept small on purpose: errors, settings helpers, logging, storage plumbing, the GraphQL HTTP
layer, process supervision and the `yunfab` command line.
"""

__version__ = "0.1.0"
