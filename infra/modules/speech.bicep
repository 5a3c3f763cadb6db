// Azure AI Speech (kind SpeechServices), reached with the app's managed
// identity: Entra tokens need the custom subdomain endpoint
// (customSubDomainName), and the identity holds Cognitive Services User.
// No key is read or stored, so key (local) authentication is off.

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

@description('Principal id of the app identity (gets Cognitive Services User).')
param appPrincipalId string

var cognitiveServicesUser = 'a97b65f3-24c7-4388-baec-2e87ef14e908'

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

resource appAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: speech
  name: guid(speech.id, appPrincipalId, cognitiveServicesUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = speech.id
output name string = speech.name
output region string = speech.location
// The custom subdomain endpoint (https://<name>.cognitiveservices.azure.com/).
output endpoint string = speech.properties.endpoint
