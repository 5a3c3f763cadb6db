// Azure Container Registry for the function app image (Container Apps
// hosting only). The admin user is off and anonymous pull is off: the app
// pulls with its user-assigned identity (AcrPull), CI pushes with its own
// Entra identity (AcrPush, granted outside this template, see
// docs/DEPLOYMENT.md). No registry password exists anywhere.

@description('Registry name (5-50 letters and digits, globally unique).')
@minLength(5)
@maxLength(50)
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object = {}

@description('Registry tier. Basic suffices for one image; Premium adds private endpoints, geo-replication and zone redundancy.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param skuName string = 'Basic'

@description('Principal id of the app identity (gets AcrPull).')
param appPrincipalId string

@description('Optional CI principal that pushes images (gets AcrPush); empty to skip.')
param pushPrincipalId string = ''

@description('Kind of the push principal.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param pushPrincipalType string = 'ServicePrincipal'

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'
var acrPush = '8311e382-0749-4cb8-b61a-304f252e45ec'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139: no virtual network in this release (as for storage and Key Vault); pushes and pulls are Entra-authenticated, admin user and anonymous pull are off
  // checkov:skip=CKV_AZURE_233: zone redundancy is a Premium feature; the image is rebuilt from the repository by CI, so a zonal outage of the registry delays a deploy, not the running app
  // checkov:skip=CKV_AZURE_166: quarantine needs Premium and a scanner that releases images; CI pushes only images built from main after the tests pass
  // checkov:skip=CKV_AZURE_163: image scanning is Microsoft Defender for Containers, a subscription-level plan outside this template (docs/DEPLOYMENT.md)
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
    zoneRedundancy: 'Disabled'
  }
}

resource pullRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, appPrincipalId, acrPull)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource pushRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(pushPrincipalId)) {
  scope: registry
  name: guid(registry.id, pushPrincipalId, acrPush)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPush)
    principalId: pushPrincipalId
    principalType: pushPrincipalType
  }
}

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
