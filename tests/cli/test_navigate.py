from importlib import resources

from fashionclip.cli.main import main

CATALOG = resources.files("fashionclip") / "data" / "sample_catalog" / "catalog.csv"


def test_navigate_prints_each_step_and_names_bad_input(tmp_path, capsys):
    import json

    db = str(tmp_path / "db")
    assert main(["index", str(CATALOG), "--db", db, "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["navigate", "1163", "red", "--away", "blue", "--db", db, "--steps", "3", "-k", "2", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["step"] for line in lines] == [1, 1, 2, 2, 3, 3]
    assert len({line["id"] for line in lines}) == 6 and "1163" not in {line["id"] for line in lines}
    assert main(["navigate", "1163", "red", "--db", db, "--steps", "2"]) == 0
    assert "step 2: 0.50 toward 'red'" in capsys.readouterr().out
    assert main(["navigate", "nope", "red", "--db", db]) == 1
    assert "no product with id 'nope'" in capsys.readouterr().err
