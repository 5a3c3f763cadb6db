// Azure AI Speech (kind SpeechServices), reached with Microsoft Entra ID:
// Entra tokens need the custom subdomain endpoint (customSubDomainName). No
// key is read or stored, so key (local) authentication is off.
// The token the app hands to browsers (aad#<resource id>#<token>) has the
// audience of every Azure AI resource, so it comes from a dedicated identity
// whose one role is Cognitive Services Speech User here: never the app
// identity, which may call Azure OpenAI (docs/CALLS.md, docs/DEPLOYMENT.md).

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

@description('Principal id of the dedicated Speech identity (gets Cognitive Services Speech User, its only role).')
param speechPrincipalId string

// Cognitive Services Speech User: what Microsoft's Entra ID page for Speech
// names; narrower than Cognitive Services User.
var speechUser = 'f2dc8367-1007-4938-bd23-fe263f013447'

resource speech 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
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
    disableLocalAuth: true
  }
}

resource speechAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: speech
  name: guid(speech.id, speechPrincipalId, speechUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', speechUser)
    principalId: speechPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = speech.id
output name string = speech.name
output region string = speech.location
// The custom subdomain endpoint (https://<name>.cognitiveservices.azure.com/).
output endpoint string = speech.properties.endpoint
