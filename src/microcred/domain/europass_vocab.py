"""The EU controlled vocabularies an ELM 3 export uses, as the Commission's own sample does.

Concept URIs come from the Commission's European Learning Model repository (the sample
``Sample-MC-Annex1-unsigned.jsonld`` and the controlled-vocabulary XSDs under ``xsd/loq/cv``,
commit 9d7c5d2) and the Publications Office authority tables (country, language, file type).
Country and language codes: ISO 3166-1 alpha-2 to alpha-3 and ISO 639-1 to 639-2/T, the codes
the authority tables use (the lists were taken from Debian's iso-codes). Docs: docs/europass.md.
"""

from __future__ import annotations

from typing import Any

from microcred.domain.errors import DomainError
from microcred.i18n import _

AUTHORITY = "http://publications.europa.eu/resource/authority"
SNB = "http://data.europa.eu/snb"
ESCO_SKILLS = "http://data.europa.eu/esco/concept-scheme/skills"


class UnmappableError(DomainError):
    """A value with no concept in the EU vocabulary the export needs (422, never a 500)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__("europass.unmappable", message, field)


def concept(
    uri: str, scheme: str | None, label: str | None = None, notation: str | None = None
) -> dict[str, Any]:
    """A SKOS concept as the sample writes one: id, type, inScheme, notation, prefLabel (en)."""
    node: dict[str, Any] = {"id": uri, "type": "Concept"}
    if scheme:
        node["inScheme"] = {"id": scheme, "type": "ConceptScheme"}
    if notation:
        node["notation"] = notation
    if label:
        node["prefLabel"] = {"en": label}
    return node


def snb(list_name: str, code: str, label: str) -> dict[str, Any]:
    """A concept of one of the Europass lists under http://data.europa.eu/snb/."""
    return concept(f"{SNB}/{list_name}/{code}", f"{SNB}/{list_name}/25831c2", label)


# Credential profile, credit system, encoding: as in the Commission's sample.
GENERIC_PROFILE = snb("credential", "e34929035b", "Generic")
ECTS = snb("education-credit", "6fcec5c5af", "European Credit Transfer System")
BASE64 = snb("encoding", "6146cde7dd", "base64")
PNG = concept(f"{AUTHORITY}/file-type/PNG", f"{AUTHORITY}/file-type", "PNG", "file-type")
# "Mode of learning and assessment" (europass-modes.xsd); keys: DefinitionData.participation.
MODES = {
    "online": snb("learning-assessment", "920fbb3cbe", "Online"),
    "onsite": snb("learning-assessment", "9191af2ed9", "Presential"),
    "blended": snb("learning-assessment", "e92d221e4d", "Blended"),
}
# Supervision and verification: only the unsupervised concept's URI could be confirmed offline
# (the Commission's sample); the other two are microcred concepts with the Annex I wording until
# the official ones are (a one-line change each).
SUPERVISION_SCHEME = f"{SNB}/supervision-verification/25831c2"
LOCAL_SUPERVISION_SCHEME = "urn:microcred:supervision-verification"
SUPERVISION = {
    "unsupervised": snb(
        "supervision-verification", "c598449d64", "Unsupervised without ID Verification"
    ),
    "supervised": concept(
        f"{LOCAL_SUPERVISION_SCHEME}:supervised",
        LOCAL_SUPERVISION_SCHEME,
        "Supervised, no identity verification",
    ),
    "supervised_id": concept(
        f"{LOCAL_SUPERVISION_SCHEME}:supervised-id",
        LOCAL_SUPERVISION_SCHEME,
        "Supervised with identity verification",
    ),
}
# Types of assessment (europass-learning-assessment-types.xsd), by their English label: a
# definition whose type of assessment is one of these gets the Europass concept.
ASSESSMENT_TYPES = {
    label: snb("assessment", code, label)
    for code, label in (
        ("19a2e5e671", "peer assessment"),
        ("2939dae15f", "marked assignment"),
        ("3484bd7e51", "continuous evaluation"),
        ("4f03b91c0e", "portfolio"),
        ("56539a6507", "group performance"),
        ("6a4db9f11d", "practical assessment"),
        ("6e6cb2cc78", "written examination"),
        ("7331eb4762", "level of attendance"),
        ("795dac4096", "project work"),
        ("812e3b0ae1", "peer review"),
        ("b1b68f6735", "quiz"),
        ("c4256a2726", "problem based learning"),
        ("d30284d7df", "oral examination"),
        ("de4d165a6c", "artefact assessment"),
    )
}


def eqf(level: str) -> dict[str, Any]:
    return snb("eqf", level, f"Level {level}")


def country(code: str, field: str = "country_code") -> dict[str, Any]:
    """The authority table's concept for an ISO 3166-1 alpha-2 code."""
    found = COUNTRIES.get(code.upper())
    if found is None:
        raise UnmappableError(
            _("the country code %(code)s has no entry in the EU country table")
            % {"code": repr(code)},
            field,
        )
    alpha3, name = found
    return concept(f"{AUTHORITY}/country/{alpha3}", f"{AUTHORITY}/country", name, "country")


def language(tag: str, field: str = "language") -> dict[str, Any]:
    """The authority table's concept for a language tag's primary subtag (ISO 639-1)."""
    primary = tag.split("-", 1)[0].lower()
    alpha3 = LANGUAGE_CODES.get(primary)
    if alpha3 is None:
        raise UnmappableError(
            _("the language %(tag)s has no entry in the EU language table") % {"tag": repr(tag)},
            field,
        )
    return concept(
        f"{AUTHORITY}/language/{alpha3}",
        f"{AUTHORITY}/language",
        EU_LANGUAGE_NAMES.get(primary),
        "language",
    )


# The 24 official EU languages' English names (the sample labels English "English").
EU_LANGUAGE_NAMES = {
    "bg": "Bulgarian", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "fi": "Finnish", "fr": "French",
    "ga": "Irish", "hr": "Croatian", "hu": "Hungarian", "it": "Italian", "lt": "Lithuanian",
    "lv": "Latvian", "mt": "Maltese", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "sk": "Slovak", "sl": "Slovenian", "sv": "Swedish",
}  # fmt: skip

_COUNTRIES = """
AD AND Andorra
AE ARE United Arab Emirates
AF AFG Afghanistan
AG ATG Antigua and Barbuda
AI AIA Anguilla
AL ALB Albania
AM ARM Armenia
AO AGO Angola
AQ ATA Antarctica
AR ARG Argentina
AS ASM American Samoa
AT AUT Austria
AU AUS Australia
AW ABW Aruba
AX ALA Åland Islands
AZ AZE Azerbaijan
BA BIH Bosnia and Herzegovina
BB BRB Barbados
BD BGD Bangladesh
BE BEL Belgium
BF BFA Burkina Faso
BG BGR Bulgaria
BH BHR Bahrain
BI BDI Burundi
BJ BEN Benin
BL BLM Saint Barthélemy
BM BMU Bermuda
BN BRN Brunei Darussalam
BO BOL Bolivia
BQ BES Bonaire, Sint Eustatius and Saba
BR BRA Brazil
BS BHS Bahamas
BT BTN Bhutan
BV BVT Bouvet Island
BW BWA Botswana
BY BLR Belarus
BZ BLZ Belize
CA CAN Canada
CC CCK Cocos (Keeling) Islands
CD COD Congo, The Democratic Republic of the
CF CAF Central African Republic
CG COG Congo
CH CHE Switzerland
CI CIV Côte d'Ivoire
CK COK Cook Islands
CL CHL Chile
CM CMR Cameroon
CN CHN China
CO COL Colombia
CR CRI Costa Rica
CU CUB Cuba
CV CPV Cabo Verde
CW CUW Curaçao
CX CXR Christmas Island
CY CYP Cyprus
CZ CZE Czechia
DE DEU Germany
DJ DJI Djibouti
DK DNK Denmark
DM DMA Dominica
DO DOM Dominican Republic
DZ DZA Algeria
EC ECU Ecuador
EE EST Estonia
EG EGY Egypt
EH ESH Western Sahara
ER ERI Eritrea
ES ESP Spain
ET ETH Ethiopia
FI FIN Finland
FJ FJI Fiji
FK FLK Falkland Islands (Malvinas)
FM FSM Micronesia, Federated States of
FO FRO Faroe Islands
FR FRA France
GA GAB Gabon
GB GBR United Kingdom
GD GRD Grenada
GE GEO Georgia
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana
GI GIB Gibraltar
GL GRL Greenland
GM GMB Gambia
GN GIN Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea
GR GRC Greece
GS SGS South Georgia and the South Sandwich Islands
GT GTM Guatemala
GU GUM Guam
GW GNB Guinea-Bissau
GY GUY Guyana
HK HKG Hong Kong
HM HMD Heard Island and McDonald Islands
HN HND Honduras
HR HRV Croatia
HT HTI Haiti
HU HUN Hungary
ID IDN Indonesia
IE IRL Ireland
IL ISR Israel
IM IMN Isle of Man
IN IND India
IO IOT British Indian Ocean Territory
IQ IRQ Iraq
IR IRN Iran
IS ISL Iceland
IT ITA Italy
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan
JP JPN Japan
KE KEN Kenya
KG KGZ Kyrgyzstan
KH KHM Cambodia
KI KIR Kiribati
KM COM Comoros
KN KNA Saint Kitts and Nevis
KP PRK North Korea
KR KOR South Korea
KW KWT Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan
LA LAO Laos
LB LBN Lebanon
LC LCA Saint Lucia
LI LIE Liechtenstein
LK LKA Sri Lanka
LR LBR Liberia
LS LSO Lesotho
LT LTU Lithuania
LU LUX Luxembourg
LV LVA Latvia
LY LBY Libya
MA MAR Morocco
MC MCO Monaco
MD MDA Moldova
ME MNE Montenegro
MF MAF Saint Martin (French part)
MG MDG Madagascar
MH MHL Marshall Islands
MK MKD North Macedonia
ML MLI Mali
MM MMR Myanmar
MN MNG Mongolia
MO MAC Macao
MP MNP Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania
MS MSR Montserrat
MT MLT Malta
MU MUS Mauritius
MV MDV Maldives
MW MWI Malawi
MX MEX Mexico
MY MYS Malaysia
MZ MOZ Mozambique
NA NAM Namibia
NC NCL New Caledonia
NE NER Niger
NF NFK Norfolk Island
NG NGA Nigeria
NI NIC Nicaragua
NL NLD Netherlands
NO NOR Norway
NP NPL Nepal
NR NRU Nauru
NU NIU Niue
NZ NZL New Zealand
OM OMN Oman
PA PAN Panama
PE PER Peru
PF PYF French Polynesia
PG PNG Papua New Guinea
PH PHL Philippines
PK PAK Pakistan
PL POL Poland
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn
PR PRI Puerto Rico
PS PSE Palestine, State of
PT PRT Portugal
PW PLW Palau
PY PRY Paraguay
QA QAT Qatar
RE REU Réunion
RO ROU Romania
RS SRB Serbia
RU RUS Russian Federation
RW RWA Rwanda
SA SAU Saudi Arabia
SB SLB Solomon Islands
SC SYC Seychelles
SD SDN Sudan
SE SWE Sweden
SG SGP Singapore
SH SHN Saint Helena, Ascension and Tristan da Cunha
SI SVN Slovenia
SJ SJM Svalbard and Jan Mayen
SK SVK Slovakia
SL SLE Sierra Leone
SM SMR San Marino
SN SEN Senegal
SO SOM Somalia
SR SUR Suriname
SS SSD South Sudan
ST STP Sao Tome and Principe
SV SLV El Salvador
SX SXM Sint Maarten (Dutch part)
SY SYR Syria
SZ SWZ Eswatini
TC TCA Turks and Caicos Islands
TD TCD Chad
TF ATF French Southern Territories
TG TGO Togo
TH THA Thailand
TJ TJK Tajikistan
TK TKL Tokelau
TL TLS Timor-Leste
TM TKM Turkmenistan
TN TUN Tunisia
TO TON Tonga
TR TUR Türkiye
TT TTO Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan
TZ TZA Tanzania
UA UKR Ukraine
UG UGA Uganda
UM UMI United States Minor Outlying Islands
US USA United States
UY URY Uruguay
UZ UZB Uzbekistan
VA VAT Holy See (Vatican City State)
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela
VG VGB Virgin Islands, British
VI VIR Virgin Islands, U.S.
VN VNM Vietnam
VU VUT Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa
YE YEM Yemen
YT MYT Mayotte
ZA ZAF South Africa
ZM ZMB Zambia
ZW ZWE Zimbabwe
"""
_LANGUAGE_CODES = """
aa:AAR ab:ABK ae:AVE af:AFR ak:AKA am:AMH an:ARG ar:ARA as:ASM av:AVA ay:AYM az:AZE ba:BAK
be:BEL bg:BUL bh:BIH bi:BIS bm:BAM bn:BEN bo:BOD br:BRE bs:BOS ca:CAT ce:CHE ch:CHA co:COS
cr:CRE cs:CES cu:CHU cv:CHV cy:CYM da:DAN de:DEU dv:DIV dz:DZO ee:EWE el:ELL en:ENG eo:EPO
es:SPA et:EST eu:EUS fa:FAS ff:FUL fi:FIN fj:FIJ fo:FAO fr:FRA fy:FRY ga:GLE gd:GLA gl:GLG
gn:GRN gu:GUJ gv:GLV ha:HAU he:HEB hi:HIN ho:HMO hr:HRV ht:HAT hu:HUN hy:HYE hz:HER ia:INA
id:IND ie:ILE ig:IBO ii:III ik:IPK io:IDO is:ISL it:ITA iu:IKU ja:JPN jv:JAV ka:KAT kg:KON
ki:KIK kj:KUA kk:KAZ kl:KAL km:KHM kn:KAN ko:KOR kr:KAU ks:KAS ku:KUR kv:KOM kw:COR ky:KIR
la:LAT lb:LTZ lg:LUG li:LIM ln:LIN lo:LAO lt:LIT lu:LUB lv:LAV mg:MLG mh:MAH mi:MRI mk:MKD
ml:MAL mn:MON mr:MAR ms:MSA mt:MLT my:MYA na:NAU nb:NOB nd:NDE ne:NEP ng:NDO nl:NLD nn:NNO
no:NOR nr:NBL nv:NAV ny:NYA oc:OCI oj:OJI om:ORM or:ORI os:OSS pa:PAN pi:PLI pl:POL ps:PUS
pt:POR qu:QUE rm:ROH rn:RUN ro:RON ru:RUS rw:KIN sa:SAN sc:SRD sd:SND se:SME sg:SAG si:SIN
sk:SLK sl:SLV sm:SMO sn:SNA so:SOM sq:SQI sr:SRP ss:SSW st:SOT su:SUN sv:SWE sw:SWA ta:TAM
te:TEL tg:TGK th:THA ti:TIR tk:TUK tl:TGL tn:TSN to:TON tr:TUR ts:TSO tt:TAT tw:TWI ty:TAH
ug:UIG uk:UKR ur:URD uz:UZB ve:VEN vi:VIE vo:VOL wa:WLN wo:WOL xh:XHO yi:YID yo:YOR za:ZHA
zh:ZHO zu:ZUL
"""

COUNTRIES = {line[:2]: (line[3:6], line[7:]) for line in _COUNTRIES.strip().splitlines()}
LANGUAGE_CODES = dict(pair.split(":") for pair in _LANGUAGE_CODES.split())
