// Key Vault in RBAC mode with purge protection. The app identity reads
// secrets (Key Vault Secrets User) through app-setting references; an
// optional operator principal and the operators' group manage them (Key
// Vault Secrets Officer): a fresh subscription needs someone who may write
// the secrets before the app that reads them is created.
// Secrets handed in here are written only when non-empty, so a re-deploy
// without a value never overwrites a secret an operator has rotated.

@description('Key Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object = {}

@description('Principal id of the app identity (gets Key Vault Secrets User).')
param appPrincipalId string

@description('Optional operator principal (user or CI service principal) that manages secrets; empty to skip.')
param adminPrincipalId string = ''

@description('Kind of the operator principal.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param adminPrincipalType string = 'User'

@description('Object id of the operators\' Entra group (Key Vault Secrets Officer); empty to skip.')
param operatorGroupId string = ''

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Log Analytics workspace for the audit log.')
param logAnalyticsWorkspaceId string

@description('Secret name (lowercase, dashes) to value; empty values are skipped.')
@secure()
param secrets object = {}

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource vaultSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for secret in items(secrets): if (!empty(secret.value)) {
  parent: vault
  name: secret.key
  properties: {
    value: secret.value
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}]

resource appReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, appPrincipalId, secretsUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource adminOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(adminPrincipalId)) {
  scope: vault
  name: guid(vault.id, adminPrincipalId, secretsOfficer)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficer)
    principalId: adminPrincipalId
    principalType: adminPrincipalType
  }
}

resource operatorGroupOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorGroupId)) {
  scope: vault
  name: guid(vault.id, operatorGroupId, secretsOfficer)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficer)
    principalId: operatorGroupId
    principalType: 'Group'
  }
}

resource audit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: vault
  name: 'audit-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
