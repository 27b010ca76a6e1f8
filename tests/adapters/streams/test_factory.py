"""The composition gets one sender per kind of stream, each saying its kind."""

from domain.streams import StreamKind


async def test_there_is_a_sender_for_every_kind_and_each_names_its_own(make_senders):
    by_kind = make_senders().by_kind
    assert set(by_kind) == set(StreamKind)
    for kind, sender in by_kind.items():
        assert sender.kind is kind
