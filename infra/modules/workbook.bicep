// The operations workbook (docs/OPERATIONS.md, "The workbook"): one shared
// Azure Monitor workbook on the Application Insights component, charting the
// app's OpenTelemetry metrics (customMetrics), the host's requests and
// dependencies, and the JSON log lines (traces). Both hosting options send to
// the same component, so one workbook serves either. The charts live in
// infra/workbooks/operations.json (edit it in the portal's Advanced Editor,
// paste it back there); loadTextContent embeds it at build time.

@description('Application Insights component name (same resource group).')
param appInsightsName string

@description('Azure region of the workbook (the component\'s region).')
param location string

@description('Tags for the resources.')
param tags object = {}

@description('Name shown in the portal\'s workbook gallery.')
param displayName string = 'Talenti operations'

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// A workbook's resource name must be a GUID; a stable one keeps redeployments
// updating the same workbook instead of adding copies.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, appInsightsName, 'talenti-operations-workbook')
  location: location
  tags: union(tags, {
    'hidden-title': displayName
  })
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    version: 'Notebook/1.0'
    sourceId: appInsights.id
    serializedData: loadTextContent('../workbooks/operations.json')
  }
}

output workbookId string = workbook.id
