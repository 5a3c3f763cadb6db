// The app's user-assigned managed identity. Every data-plane permission of
// the function app (host storage, recordings, Key Vault, App Insights
// ingestion, Azure OpenAI) is granted to this one identity.

@description('Name of the user-assigned identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
