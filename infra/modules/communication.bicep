// Azure Communication Services (data kept in Australia) and the Event Grid
// system topic that publishes its call and recording events. The event
// subscription to the function app is created after code deployment
// (scripts/postdeploy_eventgrid.sh): its endpoint carries the Functions
// host's eventgrid_extension system key, which only exists once the app's
// Event Grid trigger has been deployed and the host has started.
// The app reaches ACS with its managed identity (ACS_ENDPOINT): it holds
// Contributor on this resource only (the Identity SDK creates identities,
// issues their tokens and deletes them on erasure); no connection string is
// read or stored.
// The system topic has its own identity, allowed to write undeliverable events
// to a dead-letter container in the host storage account (shared keys are off
// there, so dead-lettering must use an identity).

@description('ACS resource name.')
param name string

@description('Event Grid system topic name.')
param systemTopicName string

@description('Region for the system topic (ACS topics are global).')
param topicLocation string = 'global'

@description('Where ACS keeps data at rest.')
param dataLocation string = 'Australia'

@description('Tags for the resources.')
param tags object = {}

@description('Principal id of the app identity (gets Contributor on the ACS resource only).')
param appPrincipalId string

@description('Storage account (same resource group) holding the dead-letter container.')
param deadLetterStorageName string

@description('Blob container receiving events Event Grid could not deliver.')
param deadLetterContainerName string

var roleBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
// Contributor, scoped to the ACS resource: the role Microsoft's Entra ID
// quickstart for the Identity SDK assigns. No Microsoft page says the narrower
// "Communication and Email Service Owner" allows the identities calls
// (create, issue token, delete), so it is not used (docs/DEPLOYMENT.md).
var roleContributor = 'b24988ac-6180-42a0-ab88-20f7382dd24c'

resource acs 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: topicLocation
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: acs.id
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

resource appAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: acs
  name: guid(acs.id, appPrincipalId, roleContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource deadLetterAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: deadLetterStorageName
}

resource deadLetterBlobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: deadLetterAccount
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: deadLetterBlobs
  name: deadLetterContainerName
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: deadLetterContainer
  name: guid(deadLetterContainer.id, systemTopic.id, roleBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleBlobDataContributor)
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output id string = acs.id
output name string = acs.name
output endpoint string = 'https://${acs.properties.hostName}/'
output systemTopicName string = systemTopic.name
output systemTopicId string = systemTopic.id
output deadLetterStorageId string = deadLetterAccount.id
