// A StorageV2 account that only accepts Entra ID (no shared keys, no SAS from
// account keys), HTTPS with TLS 1.2, and no anonymous blob access. Used twice:
// the Functions host account (AzureWebJobsStorage + Flex deployment package)
// and the data account (call recordings, optional CVs).

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object = {}

@description('Replication SKU.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_ZRS'

@description('Blob containers to create.')
param containers array = []

@description('Days a deleted blob or container stays recoverable; 0 turns soft delete off.')
@minValue(0)
@maxValue(365)
param deleteRetentionDays int = 7

@description('Role assignments on the account: objects with principalId and roleDefinitionId (a GUID).')
param roleAssignments array = []

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: deleteRetentionDays > 0
      days: deleteRetentionDays > 0 ? deleteRetentionDays : 1
    }
    containerDeleteRetentionPolicy: {
      enabled: deleteRetentionDays > 0
      days: deleteRetentionDays > 0 ? deleteRetentionDays : 1
    }
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for containerName in containers: {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}]

resource roles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for ra in roleAssignments: {
  scope: account
  name: guid(account.id, ra.principalId, ra.roleDefinitionId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ra.roleDefinitionId)
    principalId: ra.principalId
    principalType: 'ServicePrincipal'
  }
}]

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
