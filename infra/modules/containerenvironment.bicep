// Container Apps environment (workload profiles, Consumption profile) that
// hosts the function app container. Console and system logs go to Azure
// Monitor and from there, by a diagnostic setting, to the same Log Analytics
// workspace as everything else: no workspace shared key is read or stored
// (the 'log-analytics' destination needs one). The app's own telemetry goes
// to Application Insights as on Flex.

@description('Environment name.')
param name string

@description('Azure region.')
param location string

@description('Tags for the resource.')
param tags object = {}

@description('Resource id of the Log Analytics workspace receiving container logs.')
param logAnalyticsWorkspaceId string

@description('Spread replicas over availability zones (needs a virtual network, which this release does not have: keep false).')
param zoneRedundant bool = false

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
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

resource logs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: environment
  name: 'container-logs-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output id string = environment.id
output name string = environment.name
output defaultDomain string = environment.properties.defaultDomain
