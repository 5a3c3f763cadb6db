# The function app as a container image: the same code as the Flex
# Consumption package, for Azure Functions on Azure Container Apps and for
# docker-compose.yml. The base image carries the Functions host (v4) and the
# Python 3.11 worker. See docs/DEPLOYMENT.md ("Container Apps").
FROM mcr.microsoft.com/azure-functions/python:4-python3.11

# The host listens on 8080 (ASPNETCORE_URLS is read by the host's web
# server): Container Apps ingress targets 8080 (infra/modules/containerapp.bicep);
# compose maps 7071 to it.
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    ASPNETCORE_URLS=http://+:8080 \
    PYTHON_ENABLE_INIT_INDEXING=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

COPY . /home/site/wwwroot

# No USER: the image runs as root, as Microsoft's Functions base images expect.
# The host writes under /azure-functions-host (the secrets sentinel, needed for
# the system keys Event Grid's webhook uses), /FuncExtensionBundles and $HOME,
# and the images make none of them writable for another user
# (Azure/azure-functions-docker#1210, #424). A non-root USER must chown those
# paths first: tests/deploy/test_container.py fails otherwise.
# checkov:skip=CKV_DOCKER_3: the Functions host needs root (see above)
EXPOSE 8080

# Liveness only (host and worker answer): /api/health/live touches neither the
# database nor storage, so an outage there never restarts a healthy container.
# python is in the image, curl may not be.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/api/health/live', timeout=4).status == 200 else 1)"]
