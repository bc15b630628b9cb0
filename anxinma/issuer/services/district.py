"""Districts (区县): the division code an enterprise is registered in, the one place it is
read from the 统一社会信用代码 (the public directory files enterprises under it, and a district
regulator's :class:`~anxinma.issuer.services.scope.Scope` is confined to it)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func

from anxinma.issuer.store.models import Enterprise

#: Names of the districts (区县) of the seed cities, by division code; others show the code.
DISTRICTS = {
    "330200": ("宁波市", "Ningbo"),
    "330203": ("海曙区", "Haishu"),
    "330205": ("江北区", "Jiangbei"),
    "330206": ("北仑区", "Beilun"),
    "330211": ("镇海区", "Zhenhai"),
    "330212": ("鄞州区", "Yinzhou"),
    "330213": ("奉化区", "Fenghua"),
    "330225": ("象山县", "Xiangshan"),
    "330226": ("宁海县", "Ninghai"),
    "330281": ("余姚市", "Yuyao"),
    "330282": ("慈溪市", "Cixi"),
    "350200": ("厦门市", "Xiamen"),
    "350203": ("思明区", "Siming"),
    "350205": ("海沧区", "Haicang"),
    "350206": ("湖里区", "Huli"),
    "350211": ("集美区", "Jimei"),
    "350212": ("同安区", "Tong'an"),
    "350213": ("翔安区", "Xiang'an"),
    "500103": ("渝中区", "Yuzhong"),
    "500105": ("江北区", "Jiangbei"),
    "500106": ("沙坪坝区", "Shapingba"),
    "500108": ("南岸区", "Nan'an"),
    "500112": ("渝北区", "Yubei"),
    "150300": ("乌海市", "Wuhai"),
    "150302": ("海勃湾区", "Haibowan"),
}


def district_of(credit_code: str) -> str:
    """The division code of the enterprise's registration (characters 3–8 of the 统一社会信用代码,
    GB 32100-2015), the district the directory files it under."""
    return credit_code[2:8]


def district_column() -> Any:
    """:func:`district_of` as SQL (characters 3–8 of ``enterprises.credit_code``), so a
    district's enterprises are one query, in step with the Python rule."""
    return func.substr(Enterprise.credit_code, 3, 6)


_CODE = re.compile(r"[1-9][0-9]{5}")


def valid_district(code: str) -> bool:
    """Whether ``code`` is a division code (six digits, 行政区划代码) a district account may name."""
    return _CODE.fullmatch(code) is not None


__all__ = ["DISTRICTS", "district_column", "district_of", "valid_district"]
