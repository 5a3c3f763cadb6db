// Azure AI Speech (kind SpeechServices). The app exchanges the key for
// 10-minute tokens at the regional issueToken endpoint, so key access stays
// on; the key itself lives only in Key Vault.

@description('Speech account name; also its custom subdomain.')
param name string

@description('Azure region (the region the frontend SDK talks to).')
param location string

@description('Tags for the resource.')
param tags object = {}

@description('Pricing tier.')
@allowed([
  'F0'
  'S0'
])
param skuName string = 'S0'

@description('Key Vault that receives the key.')
param keyVaultName string

@description('Key Vault secret name for the key.')
param keySecretName string = 'azure-speech-key'

resource speech 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_236: key access is required: the app trades the key for 10-minute tokens at issueToken (API.md section 8); the key lives only in Key Vault
  name: name
  location: location
  tags: tags
  kind: 'SpeechServices'
  sku: {
    name: skuName
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    customSubDomainName: name
    publicNetworkAccess: 'Enabled'
    disableLocalAuth: false
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource speechKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: keySecretName
  properties: {
    value: speech.listKeys().key1
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}

output id string = speech.id
output name string = speech.name
output region string = speech.location
