from platform_service import main

from . import SERVICE_NAME
from .app import build_service

if __name__ == "__main__":
    main(SERVICE_NAME, build_service)
