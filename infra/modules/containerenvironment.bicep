// Container Apps environment (workload profiles, Consumption profile) that
// hosts the function app container. Console and system logs go to the same
// Log Analytics workspace as everything else; the app's own telemetry goes to
// Application Insights as on Flex.

@description('Environment name.')
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object = {}

@description('Name of the Log Analytics workspace (same resource group) receiving container logs.')
param logAnalyticsName string

@description('Spread replicas over availability zones (needs a virtual network, which this release does not have: keep false).')
param zoneRedundant bool = false

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsName
}

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    zoneRedundant: zoneRedundant
  }
}

output id string = environment.id
output name string = environment.name
output defaultDomain string = environment.properties.defaultDomain
