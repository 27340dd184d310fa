"""The example web host: admin console, workbench and customer pages over the SDK."""
