"""One base for the host's resources that ``with`` closes: transports, the client, the registry."""

from typing import Self

__all__ = ["Closing"]


class Closing:
    """Something to :meth:`close`; ``with`` gives the object itself and closes it on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
