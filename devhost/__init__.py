"""The local host: serves the function app without Azure Functions Core Tools."""
