from fashionclip.machine import cpu_name


def test_cpu_name_is_a_readable_string():
    name = cpu_name()
    assert isinstance(name, str) and name.strip() and "\n" not in name
