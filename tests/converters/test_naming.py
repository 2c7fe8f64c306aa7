from converters.naming import UniqueNames, safe_file_name, safe_item_name, safe_library_name


def test_library_names_lose_what_kicad_refuses():
    assert safe_library_name("My Lib: v2/3") == "My_Lib_v2_3"
    assert safe_library_name("  ") == "library"


def test_item_names_keep_spaces_but_not_separators():
    assert safe_item_name("RES 0603:1%") == "RES 0603_1%"
    assert safe_item_name("A/B\\C") == "A_B_C"


def test_file_names_are_portable():
    assert safe_file_name('SOT-23 "5"?') == "SOT-23 _5__"


def test_clashes_get_suffixes_case_insensitively():
    names = UniqueNames()
    assert names.claim("Lib") == ("Lib", False)
    assert names.claim("LIB") == ("LIB_2", True)
    assert names.claim("lib") == ("lib_3", True)
