"""The device: command processor, handler interface, device core and device top."""
