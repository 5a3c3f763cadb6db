// Function app on the Flex Consumption plan (FC1, Linux, Python 3.11).
// - The deployment package lives in a blob container of the host storage
//   account, read with the user-assigned identity.
// - AzureWebJobsStorage (host state, Durable task hub: blobs, queues,
//   tables) is identity-based: no connection string, no account key (the
//   settings come from main.bicep, shared with the Container Apps option).
// - Key Vault references resolve with the same identity
//   (keyVaultReferenceIdentity).
// - Durable Functions: an always-ready instance for the durable group, so
//   that orchestration and activity messages are picked up without a cold
//   start (host.json keeps the queue polling interval under 10 s).
// - HTTPS only, TLS 1.2, FTP and basic publishing credentials off.
// Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION
// and the WEBSITE_CONTENT* settings: the runtime comes from functionAppConfig.

@description('Function app name (also the default host name prefix).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags for the app; must carry azd-service-name for azd deploy.')
param tags object = {}

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Resource id of the Speech identity: attached only so that the app can ask for its token (AZURE_SPEECH_CLIENT_ID), the one handed to browsers; the app identity stays the default (AZURE_CLIENT_ID).')
param speechIdentityId string

@description('Host storage blob endpoint (with trailing slash).')
param hostBlobEndpoint string

@description('Blob container (in the host account) holding the deployment package.')
param deploymentContainerName string

@description('Python version of the Flex runtime.')
@allowed([
  '3.10'
  '3.11'
  '3.12'
])
param pythonVersion string = '3.11'

@description('Most on-demand instances per function group (Flex Consumption accepts 1 to 1000; always-ready instances are not counted). main.bicep bounds it by the connection budget.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 5

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Concurrent HTTP invocations one instance takes before scaling out.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Always-ready instances for the HTTP group (0 = scale to zero).')
@minValue(0)
@maxValue(20)
param alwaysReadyHttpInstances int = 0

@description('Always-ready instances for the durable group (orchestrations and activities). Microsoft recommends at least one for Durable Functions on Flex Consumption: without it, a score waits for a cold instance to pick up its queue messages.')
@minValue(0)
@maxValue(20)
param alwaysReadyDurableInstances int = 1

@description('Origins allowed by the platform CORS (the React frontend).')
param corsAllowedOrigins array = []

@description('Plain application settings, the host ones (AzureWebJobsStorage__*, Application Insights) included.')
param appSettings object = {}

@description('Settings read from Key Vault: app setting name -> secret name (versionless references).')
param keyVaultSecrets object = {}

@description('Key Vault URI (with trailing slash).')
param keyVaultUri string

@description('Log Analytics workspace receiving FunctionAppLogs.')
param logAnalyticsWorkspaceId string

@description('Spread instances over availability zones (keeps at least two always-ready instances per group; needs a zone-redundant host storage account).')
param zoneRedundant bool = false

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

var plainSettingList = [for setting in items(appSettings): {
  name: setting.key
  value: setting.value
}]
// Unresolved references reach the app as their own text, which shared/platform/config.py
// treats as unset: a missing secret disables a feature instead of the app.
var secretSettingList = [for secret in items(keyVaultSecrets): {
  name: secret.key
  value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secret.value}/)'
}]

// Zone redundancy needs at least two always-ready instances per group: the
// counts are raised here rather than left to fail at deployment.
var minimumPerGroup = zoneRedundant ? 2 : 0
var httpAlwaysReady = max(alwaysReadyHttpInstances, minimumPerGroup)
var durableAlwaysReady = max(alwaysReadyDurableInstances, minimumPerGroup)
var alwaysReadyHttp = httpAlwaysReady > 0 ? [
  {
    name: 'http'
    instanceCount: httpAlwaysReady
  }
] : []
var alwaysReadyDurable = durableAlwaysReady > 0 ? [
  {
    name: 'durable'
    instanceCount: durableAlwaysReady
  }
] : []
var alwaysReady = concat(alwaysReadyHttp, alwaysReadyDurable)

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
      '${speechIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
      appSettings: concat(plainSettingList, secretSettingList)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReady
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
    }
  }
}

resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: site
  name: 'function-logs-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output uri string = 'https://${site.properties.defaultHostName}'
