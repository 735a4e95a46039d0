"""Home of the sensor's signed self-update: verify a package's signature and SHA-256 (the
``Update`` command already carries ``package_sha256``), install it beside the running one, switch
over and roll back if the new sensor does not report healthy.

Empty on purpose: issue 13 (signed self-update; DESIGN.md ``update``)
builds it.
"""
