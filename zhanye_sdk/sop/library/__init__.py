"""The SOP library, one module per entity; ``SopService`` (``sop.service``) joins them."""

__all__: list[str] = []
