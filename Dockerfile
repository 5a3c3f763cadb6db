# Container option for the function app (the main path is Flex Consumption
# code deployment; see docs/DEPLOYMENT.md). The base image carries the
# Functions host and the Python 3.11 worker and listens on port 80.
FROM mcr.microsoft.com/azure-functions/python:4-python3.11

ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    PYTHON_ENABLE_INIT_INDEXING=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

COPY . /home/site/wwwroot
