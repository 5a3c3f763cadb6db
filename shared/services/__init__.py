"""Use cases, one module per capability. Services take their dependencies
(database, model, storage, email, clients) as arguments and never import
Azure Functions types."""
