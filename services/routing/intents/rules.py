"""Rules per language: cue phrases that the model weighs beside the words of a post.

A rule is a list of phrases over the normalised text (lower case, accents folded, slang
expanded, emoji named: see `features.normalise`), joined by single spaces and padded with one
space at each end, so a space in a phrase marks a word boundary: " rot" matches "roto" and
"rota" but not "carrot"; " cv " only the whole word. Every phrase of every rule of a language
is found in one pass of an Aho-Corasick automaton (pyahocorasick): a few microseconds a post,
where the same rules as Python regular expressions cost most of a millisecond.

A match adds a cue feature (`cue:complaint`, ...). Cues are learned like any other feature, but
they are shared by both languages and name whole families of phrasings, so a post worded unlike
anything in the labelled set still carries the signal. Negation and sarcasm have cues of their
own: "no quiero comprar, solo saber..." gives `cue:not_buying`; a post that opens with praise
("genial", "great", "gracias") and goes on with a failure ("tercera vez", "again", 👏, 🙃) gives
`cue:sarcasm`; "no es queja"/"not a complaint" gives `cue:not_complaint`.
"""

from __future__ import annotations

import re
from typing import Final

import ahocorasick

_SPANISH: Final[dict[str, str]] = {
    "complaint": (
        "nadie contesta|nadie me contesta|nadie responde|nadie me responde|nadie dice nada"
        "|nadie da la cara|nadie atiende|ni una respuesta| llevo | llevamos |todavia no me"
        "|todavia no nos|verguenza|vergonzoso|inaceptable|pesim|fatal |desastre|estafa| harto "
        "| harta |decepcion|no funciona|no va bien|no sirve|no ha llegado|no llega|no carga"
        "|dejo de funcionar| roto | rota | rotos | rotas |rajad|estropead|defectuos|despega"
        "|rayad| fria | frio |faltaba|faltan |dos veces|de mas |me siguen|otra vez|de nuevo"
        "|tercera vez|segunda vez|como siempre|ninguna solucion|mala atencion|muy mal"
        "|mal servicio|nula|no lo recomiendo|no recomiendo|no vuelvo|largas|cuelguen|cuelgan"
        "|retraso|emo_angry|que poca|sin luz|sin fibra|sin avisar|perder la|vuelve a fallar"
        "|entregado si|reembolso|me cobr|cargos"
    ),
    "service_request": (
        " cambiar | cancelar | cancelad | anular |dar de baja|darme de baja|de baja |dar de alta"
        "| devolver | reenviar |reenvien|mandarme| enviar | envien |actualizar|modificar"
        "| reservar mesa|agendar|reprogramar| activar | añadir | quitar | eliminar | pasar mi"
        "|duplicado|una copia|solicito|les ruego|contraseña|numero de pedido|numero de cliente"
        "|mi pedido |factura|codigo de seguimiento|cita con|direccion|titular|recogida en tienda"
        "|datos bancarios|la fecha de entrega|entrar en la cuenta|mi cuenta|beneficiaria"
        "|por favor|podeis | pueden |podrian|necesito que|me podeis|me pueden"
    ),
    "question": (
        "una pregunta|pregunta seria|duda|dudilla| horario|a que hora| abre | abren | cierra "
        "|envios a|envio gratis|garantia|compatible|sin gluten|incluye|se admiten|se puede "
        "|cuanto dura|cuanto tarda|diferencia hay|sirve para|sirven para|aceptan pago"
        "|tienen |teneis |hay parking|lleva perfume|es de piel|sigue abierto|pagan entrada"
    ),
    "purchase_intent": (
        "quiero comprar|quisiera comprar|queria comprar|me gustaria comprar|voy a comprar"
        "|quiero contratar|contratarlo|contratar la|quiero pedir|queria pedir|quiero pedirlo"
        "|encargar|llevarme|regalar|como lo compro|puedo comprar|se compra|lo venden|venden "
        "|se contrata|lo encargo|los encargo|hago el pedido| precio |presupuesto|haceis precio"
        "|descuento por|codigo de descuento|lo quiero|lo compro|lo necesito|me lo llevo"
        "|me lo pillo|lo compraria| link |me interesa el plan|me interesa la oferta"
        "|take my money|vuelve a haber stock|en stock|queda alguno|reservar el nuevo|me rindo"
        "|quiero una|me voy a llevar|lo pido|disponible en|ofertas teneis|cerrarlo"
    ),
    "feedback_idea": (
        "sugerencia|sugiero|propongo|propuesta para|propuesta:| idea |ideaza|estaria genial"
        "|estaria bien|estaria bueno|estaria 10|seria genial|seria util|seria muy util"
        "|mas comodo|deberiais|deberian|podrian añadir|podrian poner|podrian hacer"
        "|podriais hacer|podriais poner|ojala|echo de menos|echo mucho de menos|recomendaria"
        "|os vendria bien|una mejora|volved a poner| sacad |me gustaria que"
    ),
    "praise": (
        " gracias|me encanta|encantad|excelente|chapo|bravo|enhorabuena|de diez|recomendable"
        "|cracks|maquinas|precios|maravilla|riquisim|nunca falla|un encanto|perfect|genial"
        "|majos|emo_love|sin pegas|asi da gusto|asi si |mejor helado|en mi vida|muy amables"
        "|muy atento|muy padre|volveremos|repetiremos|emo_good|un diez|chulisimo"
    ),
    "press_inquiry": (
        "periodista|redactor|redaccion|reportaje|entrevista con|entrevistar|declaracion"
        "| prensa |medio digital|revista|periodico|diario |agencia efe|agencia de noticias"
        "|podcast|programa de television|programa de radio| radio |nota para|articulo"
        "|rueda de prensa|portavoz|version oficial|comentario oficial|cadena ser|europa press"
        "|telediario|blog de|canal de noticias|publicamos|vamos a publicar|su version"
        "|tok_mention aqui|escribir sobre"
    ),
    "crisis": (
        "hospital|urgencias| uci |ambulancia|herid|muert|murio|intoxica|alergic|quemadura"
        "|quemad|me he quemado|incendi|fuego|fuga de gas|cristales|atragant|atropell"
        "|filtracion|hackead|datos de las tarjetas|datos de miles|racis|machis|boicot|viral"
        "|trending|tendencia|millon de|millones de|escandalo|discapacidad|embarazada|puntos"
        "|se desplomo|se desprendio|contaminad|nocompreis|infeccion|peligro|humillando"
        "|despedido a|insultos"
    ),
    "job_inquiry": (
        "trabajar con vosotros|trabajar con ustedes|trabajar en vuestr|trabajar en su"
        "| curro |currar| cv |curriculum|vacante|oferta de empleo|ofertas de empleo"
        "|oferta de trabajo|puesto de|puesto para|puestos para|contratando|contratan"
        "|buscan repartidores|buscan dependientes|buscan gente|buscais|practicas| beca"
        "|proceso de seleccion|candidatura|postule|casting|formar parte de vuestro equipo"
        "|trabajo para|plazas de|me apunto|como me apunto|trabajar en vuestro equipo"
        "|una entrevista|la entrevista"
    ),
    "employee_matter": (
        "nomina|finiquito|horas extra|vacaciones|baja medica|mi contrato|despidieron"
        "|indemnizacion|rrhh|recursos humanos|seguridad social|turno|fichar|mi encargado"
        "|acos|ex empleada|ex empleado|ex trabajador|antiguo trabajador|trabaje con"
        "|trabaje en|trabajo en vuestr|trabajo en la tienda|trabajo en el almacen"
        "|trabajamos en|soy empleado|soy empleada|soy repartidor|soy cajera|soy cajero"
        "|de plantilla|becario|certificado de empresa|vida laboral|constancia laboral"
        "|plan de pensiones|convenio|uniforme|sueldo|plus de|deje la empresa|mi compañero"
        "|reduccion de jornada|queja de cliente|queja del servicio|como empleada"
        "|como empleado|me descontaron|sin cobrar|certificado para el paro|el paro"
        "|trabajaba|me deben|me debeis|no me habeis pagado|no me han pagado|mi sueldo"
    ),
    "investor_relations": (
        "accionista| acciones |dividendo|bolsa|cotiza| junta |resultados del|resultados anual"
        "|trimestr|inversor|financiacion| ronda |ampliacion de capital|folleto|recompra"
        "|cuentas anuales|cuentas auditadas|informe anual|analistas| opv |ibex| bonos "
        "|family office|capital riesgo| cfo |margenes|beneficio"
    ),
    "partnership": (
        "colabora|collab|alianza|patrocin|proveedor|distribuidor|distribuir|revendedor"
        "|co-branding|cobranding|propuesta comercial|propuesta de integracion|integracion"
        "|presentaros|ofreceros|ofrecerles|somos una|somos un |somos fabricantes|agencia de"
        "|acuerdo|intercambio| b2b | demo |representamos|hacer algo juntos|campaña conjunta"
        "|mis socios|empresas colaboradoras|tengo una cafeteria|tengo una tienda online"
        "|tengo una franquicia|tengo un podcast|tengo una cuenta|os apuntais|os interesaria"
        "|les interesa|proponeros"
    ),
    "spam": (
        "gana dinero|ganar dinero|gana 5|gana 3|ganar 1|dinero facil|dinero ya|gratis"
        "|seguidores|sigueme|sigue a| f4f | sdv |follow|tok_url|telegram|cripto|bitcoin"
        "|casino|prestamos|trabaja desde casa|premio|has sido seleccionado|has ganado"
        "|codigo de invitacion|suscribete|mi canal|verifique sus datos|replicas|fotos gratis"
        "|emo_money|pague |solo paga|trading|retenido en aduanas|visita mi perfil|agregame"
        "|te sigo|devuelvo el follow|emo_adult|dale like|al dia|a la semana| bit ly|cutt ly"
    ),
    "sarcasm_context": (
        "otra vez|tercera vez|de nuevo| sin | ni |nadie|retraso|cancel|cuelg|perder"
        "|como siempre|vuelve a fallar|dejarme|emo_irony|emo_clap|para que me|una hora"
    ),
    "irony": "emo_irony|ya ni me enfado|profesionales de primera|un crack el|sois los mejores",
    "not_buying": (
        "no quiero comprar|no voy a comprar|no voy a pedir|todavia no compro|solo saber"
        "|solo queria saber|nomas queria saber|no quiero comprar todavia"
    ),
    "not_complaint": (
        "no es queja|no es una queja|no es por quejarme|no es que este molest|sin prisa"
        "|no es urgente|no quiero hacer ningun reclamo|nada grave"
    ),
}

_ENGLISH: Final[dict[str, str]] = {
    "complaint": (
        "nobody answers|nobody ever answers|nobody replies|nobody responds|nobody takes"
        "|nobody is saying|why does nobody|no reply|no response|never reply|never showed up"
        "|never came|waiting for|been waiting|still haven't|still hasn't|still waiting"
        "|shocking|disgrac|unacceptable|terrible|awful|useless|rubbish| scam |fed up"
        "|disappoint|doesn't work|don't work|not working|stopped working|keeps crashing"
        "|broken|cracked|faulty|fell apart|scratched| cold |missing|charged me twice"
        "|charged twice|overcharged|still getting charged| again |as usual|zero solutions"
        "| rude |poor quality|poor service|really poor|would not recommend|won't be buying"
        "|fobbing|cut off|delay|emo_angry|unbelievable|not impressed|proper useless"
        "|refund|no power|nothing came|wasted|lost my|got shirty|overpriced| wild "
        "|don't load|you never"
    ),
    "service_request": (
        " change the| change my| cancel |cancellation| resend | send me| update my| modify"
        "| book a|schedule|reschedule| activate| add my| remove the| switch my| transfer"
        "|unsubscribe| return a| swap it| email me| turn off| move my| move tomorrow"
        "| leave the|please cancel|password|order number|invoice|tracking code"
        "|customer number|bank details|click and collect|duplicate receipt|signed contract"
        "|get into my account|delivery address|can you|could you|could someone|please can"
        "|i need to|i'd like to|what do i need to do|what documents"
    ),
    "question": (
        "quick question|serious question|lil question|wondering|just want to know"
        "|opening hours|open on| open | ship to|deliver to|warranty|compatible|gluten free"
        "|allowed|student discount|how long|what time|is there| do you have|difference between"
        "|ok for|does the|do under|is the bag|still open|walk in|how long does|apply in store"
    ),
    "purchase_intent": (
        "want to buy|like to buy|going to buy|looking to buy|want to order|like to order"
        "|want to sign up|going to order|want to get|want to take out|how do i buy"
        "|how do i order|how can i buy|where can i buy|where do they sell|place the order"
        "|where do i sign up| price | quote |a deal|discount code|first order|pre-order"
        "|preorder|need it|need this|i'd buy|buying it|buying right now|i'm getting one"
        "|take my money| link |back in stock|any left|in a size|interested in the family plan"
        "|interested in the plan|the ad got me|i give up|i want the|order one|finalise"
        "|want to get her|hold one|switching to you|sign up for|taking two|deals do you have"
    ),
    "feedback_idea": (
        "suggestion|suggest| idea |would be great|would be nice|would be handy"
        "|would be really handy|would be 10/10|would help|should do|should add|should bring"
        "|should start|you could do|you could add|could you add|bring back|i wish|wish you"
        "|i'd recommend adding|improvement|miss that feature|one tip|i'd love on"
    ),
    "praise": (
        " thanks| thank you|cheers|love it|love your|love the|excellent|brilliant|hats off"
        "|well done|congrat|ten out of ten|10/10|highly recommend|legends|machines|gorgeous"
        "|delicious|never misses|absolute star|perfect|great experience|great tutorial"
        "|great video|awesome|so kind|so lovely|so cute|lovely|emo_love|no questions asked"
        "|delighted|how it's done|how it should be done|best ice|in my life|will definitely"
        "|obsessed|emo_good|a joy|amazing"
    ),
    "press_inquiry": (
        "journalist|reporter|newsroom| feature |interview with|interview your|statement"
        "| press |outlet|magazine|newspaper| paper | news agency|reuters|bloomberg|podcast"
        "|tv show| radio | story |article|press conference|spokesperson|official comment"
        "|comment from|like to comment|media enquiry| bbc|sky news|food blog| piece |here:"
        "|we're publishing|we're running| nyt |buzzfeed|techcrunch|financial times"
    ),
    "crisis": (
        "hospital| a&e|intensive care|ambulance|injured| hurt |died|death|poisoning|allergic"
        "|burns|burned|caught fire| fire |gas leak| glass |choked| hit a | leak |hacked"
        "|card details|personal data|racis|sexist|boycott|viral|trending|million views"
        "|scandal|disabled|pregnant|stitches|collapsed|came down|contaminated|dontshopat"
        "|infection|danger|humiliating|your kind|laid off|sacked|racist|dizzy|nearly got"
    ),
    "job_inquiry": (
        "work with you|work for you|work at your|work there| job |a job| cv |resume|vacancy"
        "|opening|position| role |roles|hiring| hire |internship|graduate scheme|recruitment"
        "|application|applied|apply|audition|join your|be part of your|taking on"
        "|weekend work|work going|interview yesterday|interview for|an interview|job hunting"
    ),
    "employee_matter": (
        "payslip|paycheck|final pay| p45 |overtime|holiday leave|holiday days|sick pay"
        "|sick leave|my contract|let go|severance| hr |payroll| shift|clock out|my manager"
        "|harass|former employee|ex staff|ex-employee|worked for you|worked at your"
        "|worked as|i work at|work at @|an employee|a cashier|staff at|staff here"
        "|driver for the company|as an employee|proof of employment|employment verification"
        "|pension scheme|pay deal|uniform|wages|salary|allowance|left the company|a colleague"
        "|reduced hours|not a customer|owed|stipend|docked my pay|intern at|delivery drivers"
        "|used to work|owe me|owes me|my pay|month's pay|pay me|i worked"
    ),
    "investor_relations": (
        "shareholder| share | shares |dividend|go public| ipo | agm |general meeting|results"
        "| q1 | q2 | q3 | q4 |quarter|investor|funding round|next round|rights issue"
        "|prospectus|buyback|annual report|annual accounts|annual results|audited|analyst"
        "| ftse |bond|family office|venture capital| cfo |margins|guidance|profit target"
        "|stock's|share price|listed on|share plan"
    ),
    "partnership": (
        "collab|partner|sponsor|supplier|distributor|stockist|reseller|co-branding"
        "|cobranding|proposal|integration| pitch |present our|present you|offer you"
        "|offer to become|we're a |we are a |we represent|we provide|we manufacture|agency"
        "|deal to| swap| b2b | demo |do something together|joint campaign|my members"
        "|i run a|i own a|i host a|quote for your|propose"
    ),
    "spam": (
        "earn $|earn 5|make money|make $|easy money|easy cash|free likes|free followers"
        "|free pics|followers|follow me|follow back|follow @| f4f |followback|tok_url"
        "|telegram|crypto|bitcoin|casino|fast loans|work from home|claim your prize"
        "|you have been selected|you won|invite code|sub to my|my channel|verify your details"
        "|replicas|emo_money|pay the $|pay $|pay £|sign-up fee|trading|held at customs"
        "|visit my profile|add me on|gift card|emo_adult|a day from home|a week| bit ly|cutt ly"
    ),
    "sarcasm_context": (
        " again |another| not even|nobody|delay|cut off|lost|broken|never change"
        "|living the dream|emo_irony|emo_clap|best in the business|an hour|on hold"
        "|for wifi|drops every"
    ),
    "irony": "emo_irony|living the dream|never change|real professionals|not even mad",
    "not_buying": (
        "not buying yet|not ordering anything yet|not ordering yet|just want to know"
        "|just wondering|not buying"
    ),
    "not_complaint": (
        "not a complaint|not complaining|not making a complaint|not upset|no rush"
        "|not urgent|nothing major|not a customer complaint"
    ),
}

# Openers are checked at the start of the post only (after any @mentions): a praise word that
# opens a post about a failure is sarcasm; a question word that opens a post ending in "?" is
# a question form.
_OPENERS: Final[dict[str, dict[str, re.Pattern[str]]]] = {
    "es": {
        "praise": re.compile(
            r"(?:tok_mention )*(?:genial|que maravilla|maravilloso|enhorabuena|gracias"
            r"|perfecto|estupendo|bravo|fantastico|increible|me encanta|que bien|muy bien)\b"
        ),
        "question": re.compile(
            r"(?:tok_mention |hola |buenas |oye |oigan )*(?:a que|cuanto|cuando|donde|como"
            r"|que|cual|se puede|se admiten|tienen|teneis|hay|haceis|hacen|el|la|los|las|es"
            r"|son|sirve|sirven|aceptan|ustedes)\b"
        ),
    },
    "en": {
        "praise": re.compile(
            r"(?:tok_mention )*(?:great|wonderful|brilliant|congrats|thanks|love|perfect"
            r"|fantastic|amazing|lovely|well done)\b"
        ),
        "question": re.compile(
            r"(?:tok_mention |hi |hey |morning )*(?:what|when|where|how|which|is|are|do|does"
            r"|can|roughly)\b"
        ),
    },
}


def _automaton(patterns: dict[str, str]) -> ahocorasick.Automaton:
    phrases: dict[str, set[str]] = {}
    for name, alternatives in patterns.items():
        for phrase in alternatives.split("|"):
            phrases.setdefault(phrase, set()).add(name)
    automaton = ahocorasick.Automaton()
    for phrase, names in phrases.items():
        automaton.add_word(phrase, tuple(sorted(names)))
    automaton.make_automaton()
    return automaton


_AUTOMATA: Final = {"es": _automaton(_SPANISH), "en": _automaton(_ENGLISH)}
CUE_NAMES: Final[tuple[str, ...]] = (
    *(f"cue:{name}" for name in _SPANISH if name not in {"sarcasm_context", "irony"}),
    "cue:sarcasm",
    "cue:question_form",
)


def cues(tokens: list[str], languages: tuple[str, ...]) -> list[str]:
    """The cue features of a normalised post under the rules of `languages`, sorted."""
    padded = f" {' '.join(tokens)} "
    found: set[str] = set()
    for lang in languages:
        for _end, names in _AUTOMATA[lang].iter(padded):
            found.update(names)
        openers = _OPENERS[lang]
        if ("sarcasm_context" in found and openers["praise"].match(padded, 1)) or "irony" in found:
            found.add("sarcasm")
        if "?" in tokens and openers["question"].match(padded, 1):
            found.add("question_form")
    # Negation: "no quiero comprar" and "not a complaint" take back the cue they contain.
    if "not_buying" in found:
        found.discard("purchase_intent")
    if "not_complaint" in found:
        found.discard("complaint")
    found.discard("sarcasm_context")
    found.discard("irony")
    return sorted(f"cue:{name}" for name in found)
