"""The app settings: one validated store (TOML in the config folder), the window's geometry included."""

import tomllib

from ibviewer.gui.settings import MAX_RECENT, AppSettings


def test_settings_round_trip_through_one_file(tmp_path, monkeypatch):
    monkeypatch.setenv("IBVIEWER_CONFIG_DIR", str(tmp_path))
    s = AppSettings()
    s.theme = "dark"
    s.font_scale = 1.3
    s.set_geometry(b"\x01\xd9\xd0\xcb geometry")
    s.set_layout("loss|norms", b"\x00state")
    for i in range(MAX_RECENT + 3):
        s.add_recent(tmp_path / f"f{i}.toml")
    assert s.save() == tmp_path / "settings.toml"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]
    data = tomllib.loads((tmp_path / "settings.toml").read_text())
    assert "note" not in data and "persist" not in data and isinstance(data["geometry"], str)
    back = AppSettings.load()
    assert back.note == "" and back.theme == "dark" and back.font_scale == 1.3
    assert back.geometry_bytes() == b"\x01\xd9\xd0\xcb geometry" and back.layout("loss|norms") == b"\x00state"
    assert len(back.recent) == MAX_RECENT and back.recent[0].endswith(f"f{MAX_RECENT + 2}.toml")
    assert back.last_dir == str(tmp_path.resolve())
    # a throwaway window's settings are never written
    (tmp_path / "settings.toml").unlink()
    assert AppSettings(persist=False).save() is None and not (tmp_path / "settings.toml").exists()


def test_a_damaged_or_invalid_settings_file_gives_defaults_and_one_note(tmp_path, monkeypatch):
    monkeypatch.setenv("IBVIEWER_CONFIG_DIR", str(tmp_path))
    path = tmp_path / "settings.toml"
    defaults = AppSettings()
    for text, words in (("theme = [unclosed", "TOMLDecodeError"),
                        ('theme = "purple"\nfont_scale = 1.3', "theme"),
                        ('font_scale = "big"', "font_scale"),
                        ("recent = 3", "recent"),
                        (b"\xff\xfe\x00", "UnicodeDecodeError")):
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        s = AppSettings.load()
        assert s.model_dump() == defaults.model_dump(), text
        assert "unreadable" in s.note and words in s.note and "\n" not in s.note
        assert not path.exists() and path.with_suffix(".toml.bad").exists()  # set aside, not overwritten later
    # unknown keys (a newer app's) are ignored; an out-of-range text size is brought into range
    path.write_text('theme = "dark"\nfont_scale = 9.0\nfuture_option = 1\ngeometry = "not base64!"')
    s = AppSettings.load()
    assert s.note == "" and s.theme == "dark" and s.font_scale == 3.0 and s.geometry_bytes() is None
